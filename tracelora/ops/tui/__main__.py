import sys

from tracelora.ops.tui.app import main

sys.exit(main())
