using System.Text.RegularExpressions;
using static CsiDriver.Deploy.Tests.Manifests;

namespace CsiDriver.Deploy.Tests;

/// <summary>The Dockerfile, the install docs and the prerequisites script agree with the manifests.</summary>
public sealed partial class PackagingTests
{
    private static string Read(params string[] parts) => File.ReadAllText(RepoPaths.File(parts));

    [Fact]
    public void Dockerfile_builds_native_executables_into_a_pinned_minimal_image_with_the_node_tools()
    {
        var dockerfile = Read("Dockerfile");
        var froms = FromLine().Matches(dockerfile).Select(m => m.Groups[1].Value).ToList();
        // runtime-deps: no .NET runtime in the image, the executables are NativeAOT.
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/runtime-deps:10.0"], froms);

        // The entrypoint is the executable the host project publishes, and the publish is a NativeAOT one.
        var hostProject = Read("src", "CsiDriver.Host", "CsiDriver.Host.csproj");
        var assemblyName = Regex.Match(hostProject, "<AssemblyName>([^<]+)</AssemblyName>").Groups[1].Value;
        Assert.Contains("<PublishAot>true</PublishAot>", hostProject, StringComparison.Ordinal);
        Assert.Contains("<PublishAot>true</PublishAot>", Read("src", "CsiDriver.Cli", "CsiDriver.Cli.csproj"), StringComparison.Ordinal);
        Assert.Contains($"ENTRYPOINT [\"/app/{assemblyName}\"]", dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"dotnet publish src/CsiDriver\.Host/CsiDriver\.Host\.csproj[^\n]*(\\\n[^\n]*)*--runtime linux-x64", dockerfile);
        Assert.Matches(@"apt-get install[^\n]*\bclang\b", dockerfile);
        foreach (var package in new[] { "e2fsprogs", "xfsprogs", "util-linux", "mount" })
        {
            Assert.Matches($@"apt-get install[^\n]*\b{package}\b", dockerfile);
        }
        Assert.Contains("USER $APP_UID", dockerfile, StringComparison.Ordinal);
        Assert.Contains("org.opencontainers.image.version", dockerfile, StringComparison.Ordinal);
        Assert.Contains("tests/", Read(".dockerignore"), StringComparison.Ordinal);
    }

    [Fact]
    public void Controller_user_is_the_image_non_root_user()
    {
        // USER $APP_UID in the runtime-deps image is uid 1654; the aws controller pins the same uid.
        var controller = Single(Kustomize.Render("aws"), "Deployment", Controller);
        Assert.Equal("1654", PodSpec(controller)["securityContext"]["runAsUser"].Str);
    }

    [Fact]
    public void Install_readme_names_every_pinned_image_and_the_build_command_matches_the_manifest_image()
    {
        var readme = Read("deploy", "README.md");
        var images = Kustomize.Render("aws").Concat(Kustomize.Render("local"))
            .Where(d => d.Kind is "Deployment" or "DaemonSet")
            .SelectMany(Containers)
            .Select(c => c["image"].Str!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.All(images, image => Assert.Contains(image, readme, StringComparison.Ordinal));
        var driverImage = Assert.Single(images, i => i.Contains("csi-driver", StringComparison.Ordinal) && !i.Contains("sig-storage", StringComparison.Ordinal));
        Assert.Contains($"docker build -t {driverImage} .", readme, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -k deploy/kubernetes/overlays/aws", readme, StringComparison.Ordinal);
        Assert.Contains("kubectl apply -k deploy/kubernetes/overlays/local", readme, StringComparison.Ordinal);
        Assert.Contains($"{DriverName}/agent-not-ready", readme, StringComparison.Ordinal);
        Assert.Contains("snapshot-controller", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void Prerequisites_script_checks_for_kubectl()
    {
        var script = Read("scripts", "install-prerequisites.sh");
        Assert.Contains("kubectl", script, StringComparison.Ordinal);
        Assert.Contains("kustomize", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_kubectl_is_a_failure_that_says_how_to_install_it()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Kustomize.Run("/nonexistent/kubectl", RepoPaths.Overlay("aws")));
        Assert.Contains("kubectl is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("install-prerequisites.sh", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => Kustomize.Run(null, RepoPaths.Overlay("aws")));
    }

    [Fact]
    public void Kubectl_is_installed_where_these_tests_run()
    {
        Assert.True(Kustomize.FindKubectl() is not null, Kustomize.MissingKubectlHelp);
    }

    [GeneratedRegex(@"^FROM\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex FromLine();
}
