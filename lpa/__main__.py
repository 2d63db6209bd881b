from lpa.cli import main

main(prog_name="lpa")
