# hubd: `make demo` runs the hub on simulated radios; `make test` runs the whole check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need: systemd for systemd-analyze (the unit's security rating).
# nats-server: the relay fleet's backplane (JetStream), for its tests, demo and bench.
DEB_PACKAGES ?= systemd nats-server

.PHONY: all demo test bench lock system-deps clean
all: test

$(STAMP): setup.cfg constraints.txt
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; \
	fi

demo: $(STAMP)
	$(BIN)/hubd demo

# The demo with the cloud as a fleet: nats-server and two relays, the hub on one, the app on the other.
.PHONY: demo-fleet
demo-fleet: $(STAMP)
	$(BIN)/hubd demo --fleet

test: $(STAMP)
	VENV=$(VENV) tools/check

bench: $(STAMP)
	$(BIN)/python -m tools.bench

# Re-pin every dependency to what is installed now (run after changing setup.cfg and testing).
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable --exclude hubd | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .coverage build *.egg-info
