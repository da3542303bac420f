#!/bin/sh
# mocha-cloud expiry, written to /usr/local/sbin/mocha-cloud-expiry by the user data of the aws_gpu_instance role:
#   mocha-cloud-expiry arm    record which instance this is (cloud-init runs it once, at the instance's first boot)
#   mocha-cloud-expiry fire   power off (the instance then terminates), only on the instance it was armed on; the
#                             timer mocha-cloud-expiry.timer runs it at the expiry time
# An image made from the instance carries this file, the timer and the armed id, but not the instance: there, fire
# powers nothing off and disables the timer. The instance id comes from the DMI board asset tag (Nitro instances,
# readable at boot without the network), else from cloud-init's record of the current instance.
set -u
root=${MOCHA_CLOUD_EXPIRY_ROOT:-}
armed_file="$root/etc/mocha-cloud/expiry-instance-id"

this_instance() {
  id=$(cat "$root/sys/devices/virtual/dmi/id/board_asset_tag" 2>/dev/null)
  case "$id" in i-[0-9a-f]*) printf '%s\n' "$id"; return 0 ;; esac
  id=$(cat "$root/var/lib/cloud/data/instance-id" 2>/dev/null)
  case "$id" in i-[0-9a-f]*) printf '%s\n' "$id" ;; esac
}

case "${1:-}" in
  arm)
    mkdir -p "${armed_file%/*}" && this_instance > "$armed_file"
    ;;
  fire)
    armed=$(cat "$armed_file" 2>/dev/null)
    now=$(this_instance)
    if [ -n "$armed" ] && [ "$armed" = "$now" ]; then
      exec systemctl poweroff
    fi
    echo "mocha-cloud expiry: this is instance ${now:-unknown}, the timer was armed on ${armed:-none}: not powering off" >&2
    systemctl disable --now mocha-cloud-expiry.timer
    ;;
  *)
    echo "usage: $0 arm|fire" >&2
    exit 2
    ;;
esac
