# Hugging Face Docker Space: the synthetic dataset generator (app.py) on port 7860.
# Installs only space_requirements.txt: no torch, no training stack.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    GRADIO_SERVER_NAME=0.0.0.0 \
    PORT=7860

# Spaces run containers as uid 1000; the app never needs root.
RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

COPY --chown=1000:1000 space_requirements.txt ./
RUN pip install --no-cache-dir -r space_requirements.txt

COPY --chown=1000:1000 app.py ./
COPY --chown=1000:1000 space/ space/
# The library folders the Space imports (the build's own per-record code); no model, stages or ops.
COPY --chown=1000:1000 tracelora/__init__.py tracelora/
COPY --chown=1000:1000 tracelora/common/ tracelora/common/
COPY --chown=1000:1000 tracelora/formats/ tracelora/formats/
COPY --chown=1000:1000 tracelora/cleaning/ tracelora/cleaning/
COPY --chown=1000:1000 tracelora/dataset/ tracelora/dataset/
COPY --chown=1000:1000 data/seeds/ data/seeds/

USER 1000:1000
ENV HOME=/home/user GRADIO_TEMP_DIR=/home/user/tmp
EXPOSE 7860

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '7860'), timeout=4)"]

CMD ["python", "app.py"]
