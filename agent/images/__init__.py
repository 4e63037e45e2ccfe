"""Container images on a node: pulls from registries through skopeo into the node's image store
(node_images.py), the pull policy and back-off (pull_policy.py), and one pod's pulls with their
Events and Waiting reasons (pod_pulls.py)."""
