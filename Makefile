# hubd: `make demo` runs the hub on simulated radios; `make test` runs the whole check.
# The interpreter the hub image runs, Debian's python3, when this machine has one: tests and
# benchmarks then run the build the hub runs (Debian's ran the rule engine ~19 % faster than a
# plain source build of the same 3.11, such as pyenv's); otherwise the first python3 on PATH.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The stamps are named by a hash of what they install from, not judged by file times: a git
# worktree sharing this checkout's .venv (a symlink) has newer files with the same content.
PY_DEPS := setup.cfg constraints.txt tools/relay/pyproject.toml
STAMP := $(VENV)/.installed-$(shell cat $(PY_DEPS) | sha256sum | cut -c1-16)
# Debian packages the tests need: systemd for systemd-analyze (the unit's security rating).
# libubootenv-tool: fw_setenv, the U-Boot backend of the updater (tests/hubd/ota).
# chromium: the web console's browser tests (Playwright drives Debian's build; no download).
# nats-server: the relay fleet's backplane (JetStream), for its tests, demo and bench.
# grub-common: grub-editenv, against which the GRUB backend of the updater is tested.
# python3-venv: Debian's python3 makes the venv (see PYTHON).
DEB_PACKAGES ?= systemd libubootenv-tool chromium nats-server grub-common python3-venv

.PHONY: all demo test bench lock system-deps clean npm test-zwave
# The Z-Wave sidecar: zwave-js-server and Z-Wave JS's mock controller, pinned by package-lock.json.
NPM_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | sha256sum | cut -c1-16)
all: test

$(STAMP):
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	# The cloud relay is its own distribution (not in the hub's wheel): editable, for tests and bench.
	$(BIN)/pip install --quiet -c constraints.txt -e tools/relay
	@rm -f $(VENV)/.installed*; touch $@

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing; \
	fi

$(NPM_STAMP):
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null || \
	  { echo "Z-Wave JS needs Node.js 20 or newer (node --version)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed*; touch $@

npm: $(NPM_STAMP)

demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/hubd demo

# The demo with the cloud as a fleet: nats-server and two relays, the hub on one, the app on the other.
.PHONY: demo-fleet
demo-fleet: $(STAMP) $(NPM_STAMP)
	$(BIN)/hubd demo --fleet

test: $(STAMP) $(NPM_STAMP)
	VENV=$(VENV) tools/check

# The Z-Wave tests alone (Node sidecar and mock controller; they also run in `make test`).
test-zwave: $(STAMP) $(NPM_STAMP)
	$(BIN)/pytest -q tests/radios/zwave

bench: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m tools.bench

# Re-pin every dependency to what is installed now (run after changing setup.cfg and testing).
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable --exclude hubd | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .coverage build *.egg-info node_modules

# --- the hub OS image (image/): `make image` builds it, `make image-test` boots it in nspawn,
# `make image-qemu-test` boots the disk image in QEMU.
# ARCH=arm64 builds through qemu-user (binfmt); see README "Hub OS image".
ARCH ?= amd64
IMAGE_OUT ?= build/image-$(ARCH)
IMAGE_DEB_PACKAGES ?= mmdebstrap systemd-container bmap-tools fdisk e2fsprogs zstd
# amd64 boots by GRUB EFI: its modules (grub-mkimage), a FAT ESP made without mounting
# (mkfs.vfat, mcopy), and the QEMU boot test (OVMF firmware, qemu-system-x86).
IMAGE_DEB_PACKAGES += grub-efi-amd64-bin grub-common dosfstools mtools ovmf qemu-system-x86
IMAGE_DEB_PACKAGES_arm64 ?= qemu-user-static binfmt-support arch-test

.PHONY: image image-test image-deps image-qemu-test
image-deps:
	@$(MAKE) --no-print-directory system-deps \
	  DEB_PACKAGES="$(IMAGE_DEB_PACKAGES) $(if $(filter-out amd64,$(ARCH)),$(IMAGE_DEB_PACKAGES_arm64))"

image: $(STAMP) image-deps
	ARCH=$(ARCH) OUT=$(IMAGE_OUT) PYTHON=$(BIN)/python image/build

image-test: $(STAMP) image-deps
	OUT=$(IMAGE_OUT) PYTHON=$(BIN)/python image/boot-test

# The disk image booted by GRUB EFI in QEMU (software emulation: minutes per boot).
image-qemu-test: $(STAMP) image-deps
	OUT=$(IMAGE_OUT) $(BIN)/python image/qemu-test
