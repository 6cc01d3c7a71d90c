from crm_cli.cli import run

run()
