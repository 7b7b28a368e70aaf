"""What the kubelet tells a pod about itself (no Ray needed)."""

from cluster_ray.kubelet import pod_identity, runtime_env_of


def test_a_pod_learns_its_name_namespace_address_and_node():
    pod = {"metadata": {"name": "web-x7k2p", "namespace": "shop", "uid": "u-1"}, "spec": {}}
    assert pod_identity(pod, "10.0.0.7", "worker-1") == {
        "POD_NAME": "web-x7k2p", "POD_NAMESPACE": "shop", "POD_UID": "u-1", "POD_IP": "10.0.0.7",
        "NODE_NAME": "worker-1", "HOSTNAME": "web-x7k2p"}


def test_a_statefulset_pod_gets_its_ordinal_and_hostname():
    pod = {"metadata": {"name": "db-2", "namespace": "shop", "uid": "u-2",
                        "labels": {"apps.kubernetes.io/pod-index": "2", "app": "db"}},
           "spec": {"hostname": "db-2", "subdomain": "db"}}
    env = pod_identity(pod, "10.0.0.7", "worker-1")
    assert env["POD_ORDINAL"] == "2" and env["HOSTNAME"] == "db-2"
    assert "JOB_COMPLETION_INDEX" not in env


def test_an_indexed_job_pod_gets_its_completion_index():
    pod = {"metadata": {"name": "train-1-abcde", "namespace": "ml", "uid": "u-3",
                        "annotations": {"batch.kubernetes.io/job-completion-index": "1"}}, "spec": {}}
    env = pod_identity(pod, "10.0.0.7", "worker-1")
    assert env["JOB_COMPLETION_INDEX"] == "1" and "POD_ORDINAL" not in env


def test_the_image_is_the_runtime_env_of_the_first_container_that_names_one():
    pod = {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": '{"env_vars": {"A": "1"}}'}]}}
    assert runtime_env_of(pod) == {"env_vars": {"A": "1"}}
    assert runtime_env_of({"spec": {"containers": [{"image": "nginx:1.27"}]}}) is None
