# Sourced by the setup scripts (services.sh, browser.sh), not run on its own.
# apt_install LABEL PACKAGE...: install the packages with apt-get when running as root (and
# apt-get exists), else say what to install and exit 1; output lines start with LABEL.
apt_install() {
  local label=$1
  shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "$label: installing $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "$label: missing $*; install them, e.g. sudo apt-get install $*" >&2
    exit 1
  fi
}
