from storj_monitor.cli import main

raise SystemExit(main())
