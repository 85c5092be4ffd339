# Prometheus from Debian's package, for deploy/docker-compose.yml (no image registry needed: the
# base is the same debian:bookworm as deploy/Dockerfile). The scrape configuration is mounted at
# /etc/prometheus/prometheus.yml (deploy/prometheus.yml).
FROM debian:bookworm
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends prometheus bash \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o prometheus -g prometheus /prometheus
COPY prometheus.yml alerts.yml /etc/prometheus/
USER prometheus
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--storage.tsdb.retention.time=15d", "--web.listen-address=:9090"]
