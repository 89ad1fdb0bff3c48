# One image for every CryptoTracker process; the compose file picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 1000 tracker
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=tracker:tracker . .
USER tracker
CMD ["gunicorn", "web:create_app()", "--bind", "0.0.0.0:5000", "--worker-class", "gthread", "--threads", "256", "--graceful-timeout", "5"]
