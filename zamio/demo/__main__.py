from zamio.demo.run import main

raise SystemExit(main())
