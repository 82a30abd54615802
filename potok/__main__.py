from potok.cli import main

raise SystemExit(main())
