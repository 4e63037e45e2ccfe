"""Facts about the real host an agent runs on: CPU, memory, OS, kernel, arch, and a hypervisor
check that boots something rather than trusting that a device file exists."""
