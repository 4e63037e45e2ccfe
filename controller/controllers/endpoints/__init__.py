"""The endpoints controller: one Endpoints object per Service with a selector, listing the Ready
and not-ready pods and VMs it selects with their addresses and resolved ports."""
