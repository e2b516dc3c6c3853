# One image for every SkillPay process; the command picks which one runs:
#
#   docker run ... skillpay skillpay serve voucher|claim|ledger|gateway|bank
#
# Each process is configured by environment variables only (see docker-compose.yml and the
# settings classes in */config.py, skillpay/settings.py, bank_sim/settings.py).

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A virtualenv that the runtime stage copies as a whole: no compilers, sources or pip caches
# end up in the final image. Every dependency is pinned in pyproject.toml.
RUN python -m venv /opt/skillpay
WORKDIR /src
COPY . .
RUN /opt/skillpay/bin/pip install . \
 && /opt/skillpay/bin/skillpay --help > /dev/null


FROM python:3.11-slim

ENV PATH=/opt/skillpay/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SKILLPAY_DATA_DIR=/data

RUN groupadd --system --gid 10001 skillpay \
 && useradd --system --uid 10001 --gid skillpay --no-create-home --home-dir /data \
            --shell /usr/sbin/nologin skillpay \
 && mkdir -p /data \
 && chown skillpay:skillpay /data

COPY --from=build /opt/skillpay /opt/skillpay

WORKDIR /data
# Numeric so that "runAsNonRoot"-style checks can verify it without reading /etc/passwd.
USER 10001:10001

# bank simulator, gateway, voucher, claim, ledger
EXPOSE 8070 8080 50051 50052 50053

CMD ["skillpay", "serve", "gateway"]
