"""Generated atoll.v1 wire types and services; never edited by hand (scripts/gen_proto.sh)."""
