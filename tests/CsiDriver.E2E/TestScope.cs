using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace CsiDriver.E2E;

/// <summary>
/// One test's namespace and everything made in it. It remembers every PV, VolumeSnapshotContent and
/// VolumeAttachment its claims led to, so that <see cref="DeleteEverythingAndVerifyAsync"/> can prove the
/// cluster (and, on the node, the host) is left as it was.
/// </summary>
public sealed class TestScope : IAsyncDisposable
{
    private readonly ClusterFixture _cluster;
    private readonly HashSet<string> _volumes = [];        // PV names
    private readonly HashSet<string> _volumeHandles = [];  // the driver's volume ids
    private readonly HashSet<string> _snapshotContents = [];
    private readonly HashSet<string> _snapshotHandles = [];
    private readonly HashSet<string> _attachments = [];
    private bool _verified;

    private TestScope(ClusterFixture cluster, ITestOutputHelper output, string test)
    {
        _cluster = cluster;
        Namespace = $"{cluster.Prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        Steps = new StepTimer(output, cluster.Settings, test);
    }

    public string Namespace { get; }

    public StepTimer Steps { get; }

    private Kubectl Kubectl => _cluster.Kubectl;

    private E2ESettings Settings => _cluster.Settings;

    public static async Task<TestScope> StartAsync(ClusterFixture cluster, ITestOutputHelper output, string test)
    {
        var scope = new TestScope(cluster, output, test);
        await cluster.Kubectl.ApplyAsync(Manifests.Namespace(scope.Namespace).ToJsonString());
        return scope;
    }

    public Task<T> Step<T>(string step, Func<Task<T>> action) => Steps.RunAsync(step, action);

    public Task Step(string step, Func<Task> action) => Steps.RunAsync(step, action);

    public Task ApplyAsync(JsonObject manifest) => Kubectl.ApplyAsync(manifest.ToJsonString(), Namespace);

    public Task<JsonNode?> GetAsync(string kind, string name) => Kubectl.GetAsync(kind, name, Namespace);

    public Task PatchAsync(string kind, string name, JsonObject patch) =>
        Kubectl.RunAsync("patch", kind, name, "-n", Namespace, "--type", "merge", "-p", patch.ToJsonString());

    /// <summary>Waits for the claim to bind and returns its PV (remembered for the leak check).</summary>
    public async Task<JsonNode> WaitBoundAsync(string pvc)
    {
        var claim = await UntilAsync($"PVC {pvc} Bound", () => GetAsync("pvc", pvc),
            c => c?["status"]?["phase"]?.GetValue<string>() == "Bound", c => c?["status"]?.ToJsonString());
        var pvName = claim!["spec"]!["volumeName"]!.GetValue<string>();
        var pv = await Kubectl.GetAsync("pv", pvName) ?? throw new InvalidOperationException($"PV {pvName} of bound PVC {pvc} not found");
        _volumes.Add(pvName);
        _volumeHandles.Add(pv["spec"]!["csi"]!["volumeHandle"]!.GetValue<string>());
        return pv;
    }

    public async Task StartPodAsync(string name, string pvc, bool block = false)
    {
        await ApplyAsync(Manifests.Pod(name, pvc, Settings.Image, block));
        await UntilAsync($"pod {name} Ready", () => GetAsync("pod", name),
            p => p?["status"]?["conditions"]?.AsArray().Any(c => c!["type"]!.GetValue<string>() == "Ready" && c["status"]!.GetValue<string>() == "True") == true,
            p => p?["status"]?.ToJsonString());
    }

    /// <summary>Runs a script inside the pod's container (sh there, not on this host) and returns its trimmed stdout.</summary>
    public async Task<string> ExecAsync(string pod, string script) =>
        (await Kubectl.RunAsync("exec", "-n", Namespace, pod, "-c", "app", "--", "sh", "-c", script)).Trim();

    public Task DeletePodAsync(string name) =>
        Kubectl.RunAsync("delete", "pod", name, "-n", Namespace, "--wait=true", $"--timeout={(int)Settings.Timeout.TotalSeconds}s");

    /// <summary>Waits for the snapshot to be ready and remembers its content for the leak check.</summary>
    public async Task<JsonNode> WaitSnapshotReadyAsync(string name)
    {
        var snapshot = await UntilAsync($"VolumeSnapshot {name} readyToUse", () => GetAsync("volumesnapshot", name),
            s => s?["status"]?["readyToUse"]?.GetValue<bool>() == true, s => s?["status"]?.ToJsonString());
        var contentName = snapshot!["status"]!["boundVolumeSnapshotContentName"]!.GetValue<string>();
        _snapshotContents.Add(contentName);
        var content = await Kubectl.GetAsync("volumesnapshotcontent", contentName);
        if (content?["status"]?["snapshotHandle"]?.GetValue<string>() is { } handle)
        {
            _snapshotHandles.Add(handle);
        }
        return snapshot;
    }

    /// <summary>Attaches the PV to the node the way the attach/detach controller would: a VolumeAttachment the
    /// external-attacher turns into ControllerPublishVolume. Returns the attachment's name.</summary>
    public async Task<string> AttachAsync(string pv)
    {
        var name = $"{Namespace}-{pv}";
        _attachments.Add(name);
        await Kubectl.ApplyAsync(Manifests.VolumeAttachment(name, Settings.DriverName, _cluster.Node, pv).ToJsonString());
        await UntilAsync($"VolumeAttachment {name} attached", () => Kubectl.GetAsync("volumeattachment", name),
            a => a?["status"]?["attached"]?.GetValue<bool>() == true, a => a?["status"]?.ToJsonString());
        return name;
    }

    public async Task DetachAsync(string attachment)
    {
        await Kubectl.RunAsync("delete", "volumeattachment", attachment, "--wait=false");
        await UntilAsync($"VolumeAttachment {attachment} gone (ControllerUnpublishVolume)", () => Kubectl.GetAsync("volumeattachment", attachment),
            a => a is null, a => a?["status"]?.ToJsonString());
    }

    /// <summary>
    /// Deletes the test's pods, snapshots and claims, then waits until none of their PVs, VolumeSnapshotContents
    /// or VolumeAttachments is left, and, on the node (E2E_HOST_STATE_DIR), no backing file, loop device or mount.
    /// </summary>
    public async Task DeleteEverythingAndVerifyAsync()
    {
        foreach (var attachment in _attachments)
        {
            await Kubectl.RunAsync("delete", "volumeattachment", attachment, "--ignore-not-found", "--wait=false");
        }
        await Kubectl.RunAsync("delete", "pods,volumesnapshots,pvc", "--all", "-n", Namespace, "--wait=true",
            $"--timeout={(int)Settings.Timeout.TotalSeconds}s");
        foreach (var pv in _volumes)
        {
            await UntilAsync($"PV {pv} deleted", () => Kubectl.GetAsync("pv", pv), p => p is null, p => p?["status"]?.ToJsonString());
        }
        foreach (var content in _snapshotContents)
        {
            await UntilAsync($"VolumeSnapshotContent {content} deleted", () => Kubectl.GetAsync("volumesnapshotcontent", content),
                c => c is null, c => c?["status"]?.ToJsonString());
        }
        await UntilAsync("no VolumeAttachment for the test's PVs", async () =>
                (await Kubectl.ListAsync("volumeattachment"))
                .Where(a => a["spec"]?["source"]?["persistentVolumeName"]?.GetValue<string>() is { } pv && _volumes.Contains(pv))
                .Select(a => a["metadata"]!["name"]!.GetValue<string>()).ToList(),
            left => left.Count == 0, left => string.Join(", ", left));
        if (Settings.HostStateDir is { } stateDir)
        {
            await UntilAsync("no backing file, loop device or mount left on the node", () => HostLeftoversAsync(stateDir),
                left => left.Count == 0, left => string.Join("; ", left));
        }
        await Kubectl.RunAsync("delete", "namespace", Namespace, "--wait=false");
        _verified = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_verified)
        {
            return;
        }
        // The test failed before its own clean-up: remove what it made, without judging, and without an exception
        // of its own (it would replace the test's failure in the report).
        try
        {
            foreach (var attachment in _attachments)
            {
                await Kubectl.TryAsync(["delete", "volumeattachment", attachment, "--ignore-not-found", "--wait=false"]);
            }
            await Kubectl.TryAsync(["delete", "pods,volumesnapshots,pvc", "--all", "-n", Namespace, "--wait=true",
                $"--timeout={(int)Settings.Timeout.TotalSeconds}s"]);
            await Kubectl.TryAsync(["delete", "namespace", Namespace, "--wait=false"]);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Steps.Note($"clean-up after the failure incomplete: {e.Message}");
        }
    }

    /// <summary>
    /// Anything on this host that still names one of the test's volumes or snapshots: a file under the driver's
    /// state dir, a loop device's backing file, a mount (kubelet's publish paths carry the PV name, its staging
    /// path the SHA-256 of the volume handle).
    /// </summary>
    private async Task<List<string>> HostLeftoversAsync(string stateDir)
    {
        var handles = _volumeHandles.Concat(_snapshotHandles).ToList();
        var markers = handles.Concat(_volumes)
            .Concat(_volumeHandles.Select(h => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(h)))))
            .ToList();
        var left = new List<string>();
        if (Directory.Exists(stateDir))
        {
            left.AddRange(Directory.EnumerateFileSystemEntries(stateDir, "*", SearchOption.AllDirectories)
                .Where(p => handles.Any(h => Path.GetFileName(p).Contains(h, StringComparison.Ordinal)))
                .Select(p => $"file {p}"));
        }
        var loops = await ChildProcess.RunAsync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], TimeSpan.FromSeconds(30));
        left.AddRange(loops.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => handles.Any(h => l.Contains(h, StringComparison.Ordinal))).Select(l => $"loop {l.Trim()}"));
        left.AddRange((await File.ReadAllLinesAsync("/proc/self/mountinfo"))
            .Where(l => markers.Any(m => l.Contains(m, StringComparison.Ordinal))).Select(l => $"mount {l}"));
        return left;
    }

    /// <summary>Polls until the probe's result satisfies done, at most E2E_TIMEOUT; fails with the last thing seen.</summary>
    public async Task<T> UntilAsync<T>(string what, Func<Task<T>> probe, Func<T, bool> done, Func<T, string?> describe)
    {
        var deadline = DateTime.UtcNow + Settings.Timeout;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"not within {Settings.Timeout.TotalSeconds:0} s: {what}; last seen: {describe(value) ?? "(nothing)"}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }
}
