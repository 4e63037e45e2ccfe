"""The volume binding controller: binds PersistentVolumeClaims to PersistentVolumes, provisions
volumes for claims of a class, releases and deletes volumes whose claims are gone, and protects
claims and volumes in use from deletion."""
