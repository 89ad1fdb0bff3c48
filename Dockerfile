# One image for every CryptoTracker process; docker-compose.yml picks each one's command.
# Pinned to a patch release and a Debian release, so a rebuild changes nothing by surprise.
FROM python:3.11.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A fixed uid, so files in named volumes keep one owner across rebuilds.
RUN useradd --create-home --uid 1000 tracker
WORKDIR /app
# Requirements first: the dependency layer is rebuilt only when requirements.txt changes. Only
# what runs: test and tooling packages are in requirements-dev.txt, never installed here.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# Code stays root-owned: the app user can read it, not rewrite it.
COPY . .
# var/ holds beat's schedule (a named volume in compose, which takes this folder's owner).
RUN mkdir -p /app/var && chown tracker:tracker /app/var
USER tracker
EXPOSE 5000
# Healthchecks use python, not curl: the slim image has no curl.
CMD ["gunicorn", "-c", "web/gunicorn_conf.py", "--bind", "0.0.0.0:5000", "web:create_app()"]
