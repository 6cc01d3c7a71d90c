from crm_cli.cli import main

raise SystemExit(main())
