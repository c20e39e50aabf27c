from probe_demo.cli import main

raise SystemExit(main())
