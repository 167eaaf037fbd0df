.PHONY: all build test lint bench dist demo clean docs

all: build

node_modules: package-lock.json
	npm install --no-audit --no-fund
	touch node_modules

build: node_modules
	npm run build

test: node_modules
	npm test

lint: node_modules
	npm run lint

docs: node_modules
	npm run docs

bench: build
	for b in bench/*.ts; do node --import tsx "$$b" || exit 1; done

demo: build
	node bin/asicd.js demo

# A tarball to copy onto a controller: built code, production dependencies, config and docs.
dist: build
	rm -rf .dist && mkdir -p .dist/asicd
	cp -r bin dist config docs package.json package-lock.json README.md .dist/asicd/
	cd .dist/asicd && npm install --omit=dev --no-audit --no-fund
	tar -C .dist -czf asicd-$$(node -p 'require("./package.json").version').tar.gz asicd
	rm -rf .dist

clean:
	rm -rf dist .dist asicd-*.tar.gz
