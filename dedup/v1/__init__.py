"""Generated protobuf and gRPC code for dedup.v1 (from protos/dedup/v1/dedup.proto).

Only ``server/`` and ``dedup.client`` import it; the core never does. Regenerate with
``python -m grpc_tools.protoc -Iprotos --python_out=. --pyi_out=. --grpc_python_out=. protos/dedup/v1/dedup.proto``.
"""
