#!/bin/sh
# The container deployment end to end (deploy/test-deploy.sh, also `make test-deploy`): image
# build, a compose cluster of replay, learner, 3 actors and Prometheus, every target scraped.
# Once per `make test`: the sanitizer pass skips it (the images build their own binary), and a
# machine where no Docker engine can run skips it with the reason.
case "${MPO_BIN:-build/mpo}" in
*sanitize*) echo "deploy test runs in the first pass only"; exit 77 ;;
esac
MPO_DEPLOY_OPTIONAL=1 exec bash deploy/test-deploy.sh
