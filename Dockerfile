# WISPGate services image: one image, the process is chosen by the command
# (`python -m services.subscription api|relay|setup`, `python -m services.projections worker|setup`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000

RUN useradd --system --create-home --uid 10001 --user-group wispgate

# Dependencies first, read from pyproject.toml, so a code change does not reinstall them.
COPY pyproject.toml /src/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (no dev extras); migrations ship inside the packages.
COPY contracts /src/contracts
COPY plumbing /src/plumbing
COPY services /src/services
RUN pip install --no-deps /src && rm -rf /src

USER wispgate
WORKDIR /home/wispgate
EXPOSE 8000
CMD ["python", "-m", "services.subscription", "api"]
