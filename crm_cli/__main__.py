from crm_cli.complete import run

run()
