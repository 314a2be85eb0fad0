from jdeval.cli import main

raise SystemExit(main())
