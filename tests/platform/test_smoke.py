def test_admin_logs_in_and_sees_home(admin):
    response = admin.get("/")
    assert response.status_code == 200
    assert "Welcome, Boss" in response.text
    assert 'action="/logout"' in response.text
