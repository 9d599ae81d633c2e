#!/bin/sh
# Soak script: 100 MiB of "a", for readers that stop reading.
printf "Content-Type: application/octet-stream\n\n"
head -c 104857600 /dev/zero | tr "\\0" a
