# install.mk: make install and make uninstall, included by the Makefile.
#
#   make install                      /usr/local/sbin, /usr/local/share/man
#   make install PREFIX=/usr DESTDIR=/tmp/root     staged, for a package
#
# The binary is not stripped (packagers strip and keep the debug symbols).
# The units go where systemd looks for them (pkg-config's
# systemdsystemunitdir), whatever PREFIX is; their ExecStart= names the
# installed binary.

# Used alone (make -f install.mk), it installs the binary there is: none
# of make's built-in rules may try to build it from fingerd.c alone (a
# fingerd.c newer than the binary would have it compiled without the
# rest, fail, and the linker remove the binary).
.SUFFIXES:
%: %.c

PREFIX ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config
INSTALL ?= install
BIN ?= ./fingerd

sbindir ?= $(PREFIX)/sbin
mandir ?= $(PREFIX)/share/man
man8dir ?= $(mandir)/man8
SYSTEMD_UNIT_DIR := $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir \
	systemd 2>/dev/null)
systemdsystemunitdir ?= $(or $(SYSTEMD_UNIT_DIR),$(PREFIX)/lib/systemd/system)

UNITS = fingerd.socket fingerd.service

install: $(BIN)
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(man8dir) \
	    $(DESTDIR)$(systemdsystemunitdir)
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(sbindir)/fingerd
	$(INSTALL) -m 644 fingerd.8 $(DESTDIR)$(man8dir)/fingerd.8
	$(INSTALL) -m 644 fingerd.socket \
	    $(DESTDIR)$(systemdsystemunitdir)/fingerd.socket
	sed 's|^ExecStart=/usr/sbin/fingerd|ExecStart=$(sbindir)/fingerd|' \
	    fingerd.service > $(DESTDIR)$(systemdsystemunitdir)/fingerd.service
	chmod 644 $(DESTDIR)$(systemdsystemunitdir)/fingerd.service

uninstall:
	rm -f $(DESTDIR)$(sbindir)/fingerd $(DESTDIR)$(man8dir)/fingerd.8 \
	    $(UNITS:%=$(DESTDIR)$(systemdsystemunitdir)/%)

.PHONY: install uninstall
