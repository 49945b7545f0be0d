from benchmarks.syndication.cli import main

raise SystemExit(main())
