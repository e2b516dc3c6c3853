from skillpay.migration_env import run

run()
