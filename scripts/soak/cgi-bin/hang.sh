#!/bin/sh
# Soak script: never answers (the gateway's --timeout must end it).
sleep 3600
