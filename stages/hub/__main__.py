import sys

from stages.hub.cli import main

sys.exit(main())
