using static CsiDriver.Deploy.Tests.Manifests;

namespace CsiDriver.Deploy.Tests;

/// <summary>
/// Each overlay rendered with `kubectl kustomize` and checked for what breaks real installs:
/// sockets that do not meet, a registration path kubelet cannot dial, driver names that disagree,
/// unpinned images, a node plugin whose mounts never reach the host.
/// </summary>
public sealed class RenderedOverlayTests
{
    public static TheoryData<string> OverlayNames => new(Overlays);

    private static readonly string[] ControllerSidecars = ["csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter", "liveness-probe"];

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Overlay_renders_into_named_documents_with_the_expected_objects(string overlay)
    {
        var docs = Kustomize.Render(overlay);

        Assert.All(docs, d =>
        {
            Assert.False(string.IsNullOrEmpty(d["apiVersion"].Str), $"{d}: no apiVersion");
            Assert.False(string.IsNullOrEmpty(d.Kind), $"{d}: no kind");
            Assert.False(string.IsNullOrEmpty(d.Name), $"{d}: no metadata.name");
        });
        Single(docs, "CSIDriver", DriverName);
        Single(docs, "Deployment", Controller);
        Single(docs, "DaemonSet", Node);
        Single(docs, "PodDisruptionBudget", Controller);
        Assert.Equal(2, OfKind(docs, "ServiceAccount").Count());
        var duplicates = docs.GroupBy(d => (d.Kind, d.Name, d["metadata"]["namespace"].Str)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
        Assert.All(docs.Where(d => d["metadata"]["namespace"].Str is not null), d => Assert.Equal("kube-system", d["metadata"]["namespace"].Str));
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Every_sidecar_csi_address_is_the_driver_socket_inside_a_volume_they_share(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        foreach (var (workload, sharedVolumeKind) in new[] { (Single(docs, "Deployment", Controller), "emptyDir"), (Single(docs, "DaemonSet", Node), "hostPath") })
        {
            var driver = Container(workload, DriverContainer);
            var endpoint = SingleFlag(driver, "--endpoint");
            Assert.NotNull(endpoint);
            var socket = SocketPath(endpoint);
            var driverMount = MountCovering(driver, socket);
            Assert.True(driverMount is not null, $"{workload.Name}: the driver socket {socket} is on no volume mount");
            var volume = Volume(workload, driverMount["name"].Str!);
            Assert.False(volume[sharedVolumeKind].IsNull, $"{workload.Name}: socket volume {volume["name"].Str} is not a {sharedVolumeKind}");

            var sidecars = PodSpec(workload)["containers"].Items.Where(c => c["name"].Str != DriverContainer).ToList();
            Assert.NotEmpty(sidecars);
            foreach (var sidecar in sidecars)
            {
                var address = SingleFlag(sidecar, "--csi-address");
                Assert.True(address is not null, $"{workload.Name}/{sidecar["name"].Str}: no --csi-address");
                Assert.Equal(socket, SocketPath(address));
                var mount = MountCovering(sidecar, address);
                Assert.True(mount is not null, $"{workload.Name}/{sidecar["name"].Str}: {address} is on no volume mount");
                Assert.Equal(driverMount["name"].Str, mount["name"].Str);
                Assert.Equal(Normalize(driverMount["mountPath"].Str!), Normalize(mount["mountPath"].Str!));
            }
        }
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Controller_runs_every_sidecar_with_leader_election_across_two_replicas_where_the_cluster_has_nodes_for_them(string overlay)
    {
        var controller = Single(Kustomize.Render(overlay), "Deployment", Controller);
        var names = PodSpec(controller)["containers"].Items.Select(c => c["name"].Str).ToList();
        Assert.Equal([DriverContainer, .. ControllerSidecars], names);
        Assert.Equal(["controller"], Flag(Container(controller, DriverContainer), "--mode"));
        Assert.Equal(overlay == "aws" ? "2" : "1", controller["spec"]["replicas"].Str);
        foreach (var sidecar in ControllerSidecars.Where(s => s != "liveness-probe"))
        {
            Assert.Equal(["true"], Flag(Container(controller, sidecar), "--leader-election"));
        }

        var provisioner = Container(controller, "csi-provisioner");
        Assert.Equal(["true"], Flag(provisioner, "--extra-create-metadata"));
        Assert.Equal(["ext4"], Flag(provisioner, "--default-fstype"));
        Assert.Equal(["true"], Flag(Container(controller, "csi-snapshotter"), "--extra-create-metadata"));
        Assert.Equal(["false"], Flag(Container(controller, "csi-resizer"), "--handle-volume-inuse-error"));
        // Gates that are GA (Topology, VolumeAttributesClass) are on by default in the pinned sidecars;
        // naming a removed gate makes a sidecar exit at start.
        Assert.All(PodSpec(controller)["containers"].Items, c => Assert.False(HasFlag(c, "--feature-gates"), $"{c["name"].Str} sets --feature-gates"));
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Registrar_registers_the_host_path_of_the_node_driver_socket_under_plugins_registry(string overlay)
    {
        var node = Single(Kustomize.Render(overlay), "DaemonSet", Node);
        var driver = Container(node, DriverContainer);
        var registrar = Container(node, "node-driver-registrar");

        var socketInDriver = SocketPath(SingleFlag(driver, "--endpoint")!);
        var socketOnHost = HostPathOf(node, driver, socketInDriver);
        Assert.True(socketOnHost is not null, $"the node driver socket {socketInDriver} is not on a hostPath volume, kubelet cannot reach it");
        Assert.Equal($"/var/lib/kubelet/plugins/{DriverName}/csi.sock", socketOnHost);
        Assert.Equal([socketOnHost], Flag(registrar, "--kubelet-registration-path"));

        // node-driver-registrar writes its registration socket into /registration, which must be kubelet's plugins_registry.
        Assert.Equal("/var/lib/kubelet/plugins_registry", HostPathOf(node, registrar, "/registration"));
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Driver_name_agrees_across_CSIDriver_object_driver_arguments_and_registration(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var csiDriver = Assert.Single(OfKind(docs, "CSIDriver"));
        Assert.Equal(DriverName, csiDriver.Name);
        foreach (var workload in new[] { Single(docs, "Deployment", Controller), Single(docs, "DaemonSet", Node) })
        {
            Assert.Equal([DriverName], Flag(Container(workload, DriverContainer), "--driver-name"));
        }
        var registrationPath = SingleFlag(Container(Single(docs, "DaemonSet", Node), "node-driver-registrar"), "--kubelet-registration-path");
        Assert.Contains($"/{DriverName}/", registrationPath, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void CSIDriver_object_matches_the_RPCs_we_serve(string overlay)
    {
        var spec = Single(Kustomize.Render(overlay), "CSIDriver", DriverName)["spec"];
        Assert.Equal("true", spec["attachRequired"].Str);
        Assert.Equal("false", spec["podInfoOnMount"].Str);
        Assert.Equal("File", spec["fsGroupPolicy"].Str);
        Assert.Equal(["Persistent"], spec["volumeLifecycleModes"].Strings);
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Every_image_is_pinned_to_a_version_or_digest(string overlay)
    {
        var workloads = Kustomize.Render(overlay).Where(d => d.Kind is "Deployment" or "DaemonSet").ToList();
        var images = workloads.SelectMany(Containers).Select(c => c["image"].Str ?? $"<no image in {c}>").ToList();
        Assert.NotEmpty(images);
        Assert.All(images, image =>
        {
            if (image.Contains("@sha256:", StringComparison.Ordinal))
            {
                return;
            }
            var lastSegment = image[(image.LastIndexOf('/') + 1)..];
            var colon = lastSegment.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"image {image} has no tag");
            var tag = lastSegment[(colon + 1)..];
            Assert.NotEqual("latest", tag);
            Assert.Matches(@"^v?\d+\.\d+\.\d+", tag);
        });
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Node_driver_is_privileged_with_bidirectional_propagation_on_the_kubelet_directory_and_host_dev_and_sys(string overlay)
    {
        var node = Single(Kustomize.Render(overlay), "DaemonSet", Node);
        var driver = Container(node, DriverContainer);
        Assert.Equal(["node"], Flag(driver, "--mode"));
        Assert.Equal("true", driver["securityContext"]["privileged"].Str);

        var kubeletMount = Assert.Single(driver["volumeMounts"].Items, m => Normalize(m["mountPath"].Str!) == "/var/lib/kubelet");
        Assert.Equal("Bidirectional", kubeletMount["mountPropagation"].Str);
        Assert.Equal("/var/lib/kubelet", HostPathOf(node, driver, "/var/lib/kubelet"));
        Assert.Equal("/dev", HostPathOf(node, driver, "/dev"));
        Assert.Equal("/sys", HostPathOf(node, driver, "/sys"));
        // kubelet sends host paths, and the driver acts only below --kubelet-dir: the flag, the mount path in the
        // container and the host path must be the same directory, or every stage and publish is refused.
        var kubeletDir = SingleFlag(driver, "--kubelet-dir");
        Assert.Equal("/var/lib/kubelet", kubeletDir);
        Assert.Equal(kubeletDir, HostPathOf(node, driver, kubeletDir!));
        Assert.False(HasFlag(driver, "--allowed-path-root"), "an extra allowed root is for tests and csi-sanity, never a cluster");

        // Bidirectional propagation is only allowed in privileged containers; no sidecar needs it.
        var others = PodSpec(node)["containers"].Items.Where(c => c["name"].Str != DriverContainer);
        Assert.All(others, c => Assert.DoesNotContain(c["volumeMounts"].Items, m => m["mountPropagation"].Str == "Bidirectional"));
        Assert.Equal("0", PodSpec(node)["securityContext"]["runAsUser"].Str);
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Workloads_have_priority_tolerations_resources_probes_and_the_metrics_port(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var controller = Single(docs, "Deployment", Controller);
        var node = Single(docs, "DaemonSet", Node);
        Assert.Equal("system-cluster-critical", PodSpec(controller)["priorityClassName"].Str);
        Assert.Equal("system-node-critical", PodSpec(node)["priorityClassName"].Str);

        // The node plugin must land on every node, including ones carrying our agent-not-ready taint.
        var nodeTolerations = PodSpec(node)["tolerations"].Items;
        Assert.Contains(nodeTolerations, t => t["operator"].Str == "Exists" && t["key"].IsNull && t["effect"].IsNull
            || t["key"].Str == $"{DriverName}/agent-not-ready");
        Assert.NotEmpty(PodSpec(controller)["tolerations"].Items);

        foreach (var workload in new[] { controller, node })
        {
            foreach (var container in PodSpec(workload)["containers"].Items)
            {
                var who = $"{workload.Name}/{container["name"].Str}";
                Assert.False(container["resources"]["requests"]["cpu"].IsNull, $"{who}: no cpu request");
                Assert.False(container["resources"]["requests"]["memory"].IsNull, $"{who}: no memory request");
                Assert.False(container["resources"]["limits"]["memory"].IsNull, $"{who}: no memory limit");
            }
            var driver = Container(workload, DriverContainer);
            Assert.False(driver["livenessProbe"].IsNull, $"{workload.Name}: driver has no liveness probe");
            Assert.False(driver["readinessProbe"].IsNull, $"{workload.Name}: driver has no readiness probe");

            var metricsAddress = SingleFlag(driver, "--metrics-address");
            Assert.Equal(":3301", metricsAddress);
            var port = Assert.Single(driver["ports"].Items, p => p["name"].Str == "metrics");
            Assert.Equal("3301", port["containerPort"].Str);
            Assert.Equal("metrics", driver["readinessProbe"]["httpGet"]["port"].Str);

            // The liveness probe port is served by the livenessprobe sidecar of the same pod.
            var probe = Container(workload, "liveness-probe");
            var healthPort = driver["ports"].Items.Single(p => p["name"].Str == driver["livenessProbe"]["httpGet"]["port"].Str)["containerPort"].Str;
            Assert.Equal([$":{healthPort}"], Flag(probe, "--http-endpoint"));
        }

        var service = Single(docs, "Service", "block-csi-controller-metrics");
        Assert.Equal("metrics", Assert.Single(service["spec"]["ports"].Items)["targetPort"].Str);
        Assert.Equal(Controller, service["spec"]["selector"]["app"].Str);
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Disruption_budget_covers_the_controller_pods(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var pdb = Single(docs, "PodDisruptionBudget", Controller);
        var podLabels = Single(docs, "Deployment", Controller)["spec"]["template"]["metadata"]["labels"];
        Assert.Equal("policy/v1", pdb["apiVersion"].Str);
        Assert.Equal("1", pdb["spec"]["maxUnavailable"].Str);
        var selector = pdb["spec"]["selector"]["matchLabels"];
        Assert.NotEmpty(selector.Keys);
        Assert.All(selector.Keys, k => Assert.Equal(selector[k].Str, podLabels[k].Str));
    }

    [Fact]
    public void Aws_overlay_selects_the_aws_backend_and_keeps_the_controller_unprivileged_and_non_root()
    {
        var docs = Kustomize.Render("aws");
        var controller = Single(docs, "Deployment", Controller);
        var node = Single(docs, "DaemonSet", Node);
        Assert.Equal(["aws"], Flag(Container(controller, DriverContainer), "--backend"));
        Assert.Equal(["aws"], Flag(Container(node, DriverContainer), "--backend"));
        Assert.Equal(["imds,kubernetes"], Flag(Container(node, DriverContainer), "--metadata-sources"));

        Assert.Equal("true", PodSpec(controller)["securityContext"]["runAsNonRoot"].Str);
        Assert.All(PodSpec(controller)["containers"].Items, c =>
        {
            Assert.NotEqual("true", c["securityContext"]["privileged"].Str);
            Assert.Equal("false", c["securityContext"]["allowPrivilegeEscalation"].Str);
        });
        Assert.DoesNotContain(PodSpec(controller)["volumes"].Items, v => !v["hostPath"].IsNull);
        // Credentials: the optional Secret never blocks the pod from starting when it is absent.
        var secretEnv = Container(controller, DriverContainer)["env"].Items.Where(e => !e["valueFrom"]["secretKeyRef"].IsNull).ToList();
        Assert.Equal(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], secretEnv.Select(e => e["name"].Str));
        Assert.All(secretEnv, e => Assert.Equal("true", e["valueFrom"]["secretKeyRef"]["optional"].Str));
    }

    [Fact]
    public void Local_overlay_shares_one_state_directory_and_gives_the_controller_host_dev_to_create_loop_devices()
    {
        var docs = Kustomize.Render("local");
        var controller = Single(docs, "Deployment", Controller);
        var node = Single(docs, "DaemonSet", Node);
        var controllerDriver = Container(controller, DriverContainer);
        var nodeDriver = Container(node, DriverContainer);

        Assert.Equal(["local"], Flag(controllerDriver, "--backend"));
        Assert.Equal(["local"], Flag(nodeDriver, "--backend"));
        var stateDir = SingleFlag(controllerDriver, "--state-dir");
        Assert.NotNull(stateDir);
        Assert.Equal([stateDir], Flag(nodeDriver, "--state-dir"));
        var controllerHostState = HostPathOf(controller, controllerDriver, stateDir);
        Assert.True(controllerHostState is not null, $"controller --state-dir {stateDir} is not on a hostPath volume");
        Assert.Equal(controllerHostState, HostPathOf(node, nodeDriver, stateDir));
        Assert.Equal(Flag(controllerDriver, "--zone"), Flag(nodeDriver, "--zone"));

        Assert.Equal("true", controllerDriver["securityContext"]["privileged"].Str);
        Assert.Equal("/dev", HostPathOf(controller, controllerDriver, "/dev"));

        // The local node id is the Kubernetes node name, taken from the downward API.
        Assert.Equal(["$(NODE_NAME)"], nodeDriver["args"].Strings.Where(a => a.StartsWith("--node-id=", StringComparison.Ordinal)).Select(a => a["--node-id=".Length..]));
        var nodeName = Assert.Single(nodeDriver["env"].Items, e => e["name"].Str == "NODE_NAME");
        Assert.Equal("spec.nodeName", nodeName["valueFrom"]["fieldRef"]["fieldPath"].Str);
    }
}
