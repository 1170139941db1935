# A/B slot choice for U-Boot boards (compile: mkimage -A arm64 -T script -d boot.cmd boot.scr).
# The algorithm of hubd.ota.bootenv.choose_slot. A TEMPLATE for board integration: `make image`
# installs no U-Boot (board-specific) and no test runs this script (amd64's grub.cfg is booted).
# fw_env.config on the hub must point at the same environment (hubd's bootenv = "uboot").
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3
setenv slot
for s in ${BOOT_ORDER}; do
  if test -z "${slot}" && test "${s}" = "A" && test ${BOOT_A_LEFT} -gt 0; then
    setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1; setenv slot A
  fi
  if test -z "${slot}" && test "${s}" = "B" && test ${BOOT_B_LEFT} -gt 0; then
    setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1; setenv slot B
  fi
done
if test -z "${slot}"; then
  for s in ${BOOT_ORDER}; do setenv slot ${s}; done
  test -n "${slot}" || setenv slot A
else
  saveenv
fi
# The disk of `make image`: 1 esp, 2 root-a, 3 root-b, 4 data (as for GRUB on amd64).
if test "${slot}" = "A"; then setenv part root-a; setenv partnum 2; else setenv part root-b; setenv partnum 3; fi
setenv bootargs "${bootargs} root=PARTLABEL=${part} ro rootwait systemd.volatile=state panic=10 hubd.slot=${slot}"
load ${devtype} ${devnum}:${partnum} ${kernel_addr_r} /boot/Image
load ${devtype} ${devnum}:${partnum} ${fdt_addr_r} /boot/${fdtfile}
booti ${kernel_addr_r} - ${fdt_addr_r}
