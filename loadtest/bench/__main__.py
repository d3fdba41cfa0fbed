import sys

from loadtest.bench.fanout import main

sys.exit(main())
