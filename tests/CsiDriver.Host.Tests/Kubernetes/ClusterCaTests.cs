using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CsiDriver.Kubernetes;
using CsiDriver.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Tests.Kubernetes;

/// <summary>The API server's certificate is trusted when it chains to the service account's ca.crt, and only then.</summary>
[Trait("Category", "Unit")]
public sealed class ClusterCaTests
{
    [Fact]
    public async Task A_server_certificate_issued_by_the_cluster_ca_is_trusted()
    {
        using var dir = new TestDirectory("k8sca");
        using var ca = CreateCa("fake-cluster-ca");
        await File.WriteAllTextAsync(dir.Path("ca.crt"), ca.ExportCertificatePem());
        await using var server = await StartHttpsAsync(IssueServerCertificate(ca));
        using var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = server.Uri, Token = "t", CaCertificatePath = dir.Path("ca.crt") }),
            NullLogger<InClusterKubernetesNodeApi>.Instance);

        var node = await api.GetNodeAsync("node-a", CancellationToken.None);

        Assert.Equal("node-a", node?.Name);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused_without_retrying()
    {
        using var dir = new TestDirectory("k8sca");
        using var clusterCa = CreateCa("fake-cluster-ca");
        using var otherCa = CreateCa("someone-else");
        await File.WriteAllTextAsync(dir.Path("ca.crt"), clusterCa.ExportCertificatePem());
        await using var server = await StartHttpsAsync(IssueServerCertificate(otherCa));
        using var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = server.Uri, Token = "t", CaCertificatePath = dir.Path("ca.crt"), MaxAttempts = 5, InitialBackoff = TimeSpan.FromMinutes(2), MaxBackoff = TimeSpan.FromMinutes(2) }),
            NullLogger<InClusterKubernetesNodeApi>.Instance);

        // A retry would first sit out two minutes of backoff: failing well within one proves there was none.
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => api.GetNodeAsync("node-a", CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Contains("does not chain to", error.Message);
        Assert.Equal(0, server.Requests);
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 IssueServerCertificate(X509Certificate2 ca)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var issued = request.Create(ca, ca.NotBefore.ToUniversalTime(), ca.NotAfter.ToUniversalTime().AddHours(-1), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Kestrel needs an exportable key on Linux: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private static async Task<HttpsServer> StartHttpsAsync(X509Certificate2 certificate)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var server = new HttpsServer(app, certificate);
        app.Run(async context =>
        {
            Interlocked.Increment(ref server.RequestCount);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"metadata":{"name":"node-a","resourceVersion":"1"},"spec":{}}""");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Uri = new Uri(address + "/");
        return server;
    }

    private sealed class HttpsServer(WebApplication app, X509Certificate2 certificate) : IAsyncDisposable
    {
        public int RequestCount;

        public Uri Uri { get; set; } = null!;

        public int Requests => Volatile.Read(ref RequestCount);

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            certificate.Dispose();
        }
    }
}
