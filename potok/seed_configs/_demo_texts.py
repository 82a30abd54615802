"""The words demo documents are made of, per language: positions, products, subjects of works,
contract titles, stage names, refusal reasons. Data for :mod:`potok.seed_configs.demo_data`;
names, companies and addresses come from Faker."""

from __future__ import annotations

from typing import Any

LEGAL_FORMS: dict[str, list[tuple[str, str]]] = {
    "ru": [
        ("ООО", "Общество с ограниченной ответственностью"),
        ("АО", "Акционерное общество"),
        ("ПАО", "Публичное акционерное общество"),
        ("ЗАО", "Закрытое акционерное общество"),
    ],
    "en": [
        ("LLC", "Limited Liability Company"),
        ("Inc.", "Incorporated"),
        ("Ltd", "Limited"),
        ("Corp.", "Corporation"),
    ],
}
SOLE_TRADER = {"ru": ("ИП", "Индивидуальный предприниматель"), "en": ("", "Sole trader")}
NAME_SUFFIXES = {
    "ru": ["", "", "", "Групп", "Трейд", "Сервис", "Холдинг", "Плюс", "Инвест", "Технологии"],
    "en": ["", "", "", "Group", "Trading", "Services", "Holdings", "Plus", "Systems"],
}

TEXTS: dict[str, dict[str, Any]] = {
    "ru": {
        "positions": [
            "Генеральный директор",
            "Финансовый директор",
            "Главный бухгалтер",
            "Менеджер по закупкам",
            "Руководитель отдела закупок",
            "Юрист",
            "ИТ-директор",
            "Коммерческий директор",
            "Секретарь",
            "Специалист по тендерам",
        ],
        "products": [
            ("Обучение работе на площадке", 4500),
            ("Настройка рабочего места", 3000),
            ("Электронная подпись", 2700),
            ("Продление сертификата подписи", 1900),
            ("Консультация юриста по 44-ФЗ", 6000),
            ("Сопровождение закупки", 15000),
            ("Токен для подписи", 1500),
            ("Тариф «Безлимитный» на год", 49000),
        ],
        "inquiry_subjects": {
            "retail_order": ["Заказ с сайта: {product}", "Счёт на {product}", "Заявка: {product}"],
            "long_sale": [
                "Интерес к годовому обслуживанию",
                "Запрос коммерческого предложения",
                "Хотят подключить филиалы",
                "Запрос на сопровождение закупок",
            ],
            "question": [
                "Вопрос по работе личного кабинета",
                "Как продлить подпись?",
                "Вопрос о тарифах",
                "Не приходит письмо с паролем",
            ],
        },
        "refusals": [
            "Клиент обратился по ошибке: ищет другую площадку.",
            "Бюджет на этот год уже распределён, просили не беспокоить до весны.",
            "Выбрали другого поставщика.",
            "Нет полномочий принимать решение, контакт ЛПР не дали.",
        ],
        "work_subjects": {
            "letter": ["Письмо с материалами", "Ответ на запрос", "Письмо с реквизитами"],
            "call": ["Звонок: выяснить потребность", "Звонок ЛПР", "Напомнить об оплате"],
            "meeting": ["Встреча в офисе клиента", "Встреча с ЛПР", "Переговоры по условиям"],
            "presentation": ["Онлайн-презентация сервиса", "Демонстрация личного кабинета"],
            "proposal": ["Отправить коммерческое предложение", "Обновить КП по новым ценам"],
            "contract_preparation": ["Подготовить проект договора", "Согласовать правки юриста"],
        },
        "results": [
            "Договорились о следующем звонке.",
            "Клиент получил материалы, ждёт КП.",
            "Обсудили условия, клиент думает.",
            "Выслали проект договора.",
            "ЛПР в отпуске, перезвонить через неделю.",
            "Клиент готов подписать.",
        ],
        "contract_titles": {
            "supply": "Поставка: {product}",
            "services": "Услуги: {product}",
            "licence": "Лицензия: {product}",
            "framework": "Рамочный договор на обслуживание",
        },
        "contract_subject": "Предмет договора: {product} для {client}.",
        "stages": [
            "Подписание и предоплата",
            "Поставка и настройка",
            "Обучение сотрудников",
            "Сопровождение",
            "Закрывающие документы",
        ],
        "notes": [
            "Работают по 44-ФЗ, закупки в основном весной.",
            "Решения принимает генеральный директор.",
            "Просили присылать документы только по электронной почте.",
            "Есть филиалы в регионах.",
        ],
        "requisites": "Реквизиты для счёта: ИНН {inn}, {address}",
    },
    "en": {
        "positions": [
            "Chief Executive Officer",
            "Chief Financial Officer",
            "Chief Accountant",
            "Purchasing Manager",
            "Head of Procurement",
            "Legal Counsel",
            "IT Director",
            "Sales Director",
            "Office Manager",
            "Tender Specialist",
        ],
        "products": [
            ("Platform training", 4500),
            ("Workstation set-up", 3000),
            ("Digital signature", 2700),
            ("Signature certificate renewal", 1900),
            ("Procurement law consultation", 6000),
            ("Tender support", 15000),
            ("Signature token", 1500),
            ("Unlimited plan, one year", 49000),
        ],
        "inquiry_subjects": {
            "retail_order": ["Web order: {product}", "Invoice for {product}", "Order: {product}"],
            "long_sale": [
                "Interested in yearly service",
                "Request for a commercial proposal",
                "Want to connect their branches",
                "Request for tender support",
            ],
            "question": [
                "Question about the personal account",
                "How to renew the signature?",
                "Question about prices",
                "Password e-mail does not arrive",
            ],
        },
        "refusals": [
            "Contacted us by mistake: looking for another platform.",
            "This year's budget is spent; call again in spring.",
            "Chose another supplier.",
            "No authority to decide; would not name the decision maker.",
        ],
        "work_subjects": {
            "letter": ["Letter with materials", "Reply to the request", "Letter with bank details"],
            "call": ["Call: find out the needs", "Call the decision maker", "Payment reminder"],
            "meeting": ["Meeting at the client's office", "Meeting the decision maker"],
            "presentation": ["Online presentation", "Personal account demo"],
            "proposal": ["Send a commercial proposal", "Update the proposal with new prices"],
            "contract_preparation": ["Prepare the contract draft", "Agree on the lawyer's edits"],
        },
        "results": [
            "Agreed on the next call.",
            "The client got the materials and waits for a proposal.",
            "Discussed the terms; the client is thinking.",
            "Sent the contract draft.",
            "The decision maker is on holiday; call again next week.",
            "The client is ready to sign.",
        ],
        "contract_titles": {
            "supply": "Supply: {product}",
            "services": "Services: {product}",
            "licence": "Licence: {product}",
            "framework": "Framework service agreement",
        },
        "contract_subject": "Subject of the contract: {product} for {client}.",
        "stages": [
            "Signing and prepayment",
            "Delivery and set-up",
            "Staff training",
            "Support",
            "Closing documents",
        ],
        "notes": [
            "Buys under public procurement law, mostly in spring.",
            "The CEO makes the decisions.",
            "Asked for documents by e-mail only.",
            "Has branches in other regions.",
        ],
        "requisites": "Invoice details: INN {inn}, {address}",
    },
}
