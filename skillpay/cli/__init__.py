"""The ``skillpay`` command and what it drives, apart from the runtime the services share.

``main`` is the command (``skillpay up | demo | serve | token | codegen``); ``stack`` starts and
supervises the processes of one installation; ``broker`` runs the embedded Kafka-protocol broker;
``demo`` carries vouchers from issue to paid; ``sample_data`` makes valid demo persons and
institutions; ``codegen`` regenerates the protobuf code.
"""
