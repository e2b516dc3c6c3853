"""``python -m bank_sim``: run the bank simulator (see :func:`bank_sim.app.main`)."""

from bank_sim.app import main

if __name__ == "__main__":
    main()
