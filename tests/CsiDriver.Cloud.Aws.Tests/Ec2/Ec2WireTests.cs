using System.Collections.Concurrent;
using Amazon.Runtime;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

/// <summary>
/// The real AWSSDK client, built by our factory, against a canned EC2 Query endpoint on 127.0.0.1: proves the
/// ServiceURL override, signing with explicit credentials, the filter encoding and the error mapping on the wire.
/// (The full EC2 simulator and end-to-end tests live elsewhere.)
/// </summary>
[Trait("Category", "Unit")]
public sealed class Ec2WireTests
{
    private const string VolumesXml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>req-1</requestId>
          <volumeSet>
            <item>
              <volumeId>vol-0wire</volumeId>
              <size>8</size>
              <availabilityZone>us-east-1a</availabilityZone>
              <status>available</status>
              <volumeType>gp3</volumeType>
              <attachmentSet/>
            </item>
          </volumeSet>
        </DescribeVolumesResponse>
        """;

    private static string ErrorXml(string code) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <Response><Errors><Error><Code>{code}</Code><Message>canned {code}</Message></Error></Errors><RequestID>req-2</RequestID></Response>
        """;

    private static async Task<(WebApplication App, string Url, ConcurrentQueue<string> Bodies)> StartAsync(int status, string body)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var bodies = new ConcurrentQueue<string>();
        app.MapPost("/", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            bodies.Enqueue(await reader.ReadToEndAsync());
            context.Response.StatusCode = status;
            context.Response.ContentType = "text/xml";
            await context.Response.WriteAsync(body);
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, url, bodies);
    }

    private static Ec2Pollers Pollers(string url, DriverMetrics metrics)
    {
        var client = Ec2ClientFactory.Create("us-east-1", url, new BasicAWSCredentials("AKIDTEST", "secret"));
        var caller = new Ec2Caller(client, metrics, NullLogger<Ec2Caller>.Instance);
        return new Ec2Pollers(caller, Ec2Mock.FastTuning(), metrics, NullLogger<Ec2Pollers>.Instance);
    }

    [Fact]
    public async Task Describe_goes_to_the_service_url_with_a_volume_id_filter()
    {
        var (app, url, bodies) = await StartAsync(200, VolumesXml);
        await using var _ = app;
        using var metrics = new DriverMetrics();

        var volume = await Pollers(url, metrics).Volumes.GetAsync("vol-0wire", CancellationToken.None);

        Assert.Equal(8, volume!.Size);
        Assert.Equal("us-east-1a", volume.AvailabilityZone);
        var body = Uri.UnescapeDataString(Assert.Single(bodies));
        Assert.Contains("Action=DescribeVolumes", body, StringComparison.Ordinal);
        Assert.Contains("Filter.1.Name=volume-id", body, StringComparison.Ordinal);
        Assert.Contains("Filter.1.Value.1=vol-0wire", body, StringComparison.Ordinal);
        Assert.DoesNotContain("VolumeId.1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unauthorized_on_the_wire_is_permission_denied_naming_the_action()
    {
        var (app, url, _) = await StartAsync(403, ErrorXml("UnauthorizedOperation"));
        await using var __ = app;
        using var metrics = new DriverMetrics();

        var error = await Assert.ThrowsAsync<StorageException>(() => Pollers(url, metrics).Volumes.GetAsync("vol-1", CancellationToken.None));

        Assert.Equal(FailureKind.PermissionDenied, error.Kind);
        Assert.Contains("ec2:DescribeVolumes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttling_answer_on_the_wire_is_unavailable()
    {
        var (app, url, bodies) = await StartAsync(503, ErrorXml("RequestLimitExceeded"));
        await using var __ = app;
        using var metrics = new DriverMetrics();
        // The factory's adaptive configuration without retries: under sustained throttling the adaptive rate
        // limiter holds a call for 10+ s before giving up (its wrapped error is covered in Ec2ErrorMapperTests).
        var config = Ec2ClientFactory.CreateConfig("us-east-1", url);
        config.MaxErrorRetry = 0;
        using var client = new Amazon.EC2.AmazonEC2Client(new BasicAWSCredentials("AKIDTEST", "secret"), config);
        var caller = new Ec2Caller(client, metrics, NullLogger<Ec2Caller>.Instance);

        var error = await Assert.ThrowsAsync<StorageException>(() => caller.CallAsync("DeleteVolume",
            (c, t) => c.DeleteVolumeAsync(new Amazon.EC2.Model.DeleteVolumeRequest { VolumeId = "vol-1" }, t), CancellationToken.None));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        Assert.True(error.Message.Contains("throttled", StringComparison.Ordinal), error.Message + " / " + error.InnerException);
        Assert.NotEmpty(bodies);
    }
}
