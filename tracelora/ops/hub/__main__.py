import sys

from tracelora.ops.hub.cli import main

sys.exit(main())
