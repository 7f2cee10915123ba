from tracelora.common.log import run_main
from tracelora.ops.hub.cli import main

run_main(main)
