import sys

from stages.tui.app import main

sys.exit(main())
