<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>QObject</name>
    <message>
        <source>server: expected HOST:PORT (for example 127.0.0.1:7070), got &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>server: the port in &quot;%1&quot; must be a number from %2 to 65535</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::app</name>
    <message>
        <source>--data: cannot create %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--data: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Port %1 on 127.0.0.1 is in use, so kairosctl cannot attach to this console; everything else works. Start with --no-listen to run without it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::client::InProcessClient</name>
    <message>
        <source>the local engine is not running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>local (%1)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::client::RemoteClient</name>
    <message>
        <source>closed by the user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot reach %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleActions</name>
    <message>
        <source>&amp;New job…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create a job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a run of the selected job now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Enable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Let the selected job fire on its schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>D&amp;isable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the selected job from firing (runs in progress go on)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the selected job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the selected run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;try run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the selected finished run again as a new attempt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load jobs and runs again from the server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close the console</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>tooltip: description (shortcut)</comment>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleCommands</name>
    <message>
        <source>Could not run &quot;%1&quot;: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Started run #%1 of &quot;%2&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Started %n run(s) of &quot;%1&quot;</source>
        <translation>
            <numerusform>Started %n run of &quot;%1&quot;</numerusform>
            <numerusform>Started %n runs of &quot;%1&quot;</numerusform>
        </translation>
    </message>
    <message>
        <source>Could not enable &quot;%1&quot;: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not disable &quot;%1&quot;: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enabled &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disabled &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not delete &quot;%1&quot;: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not cancel run #%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asked run #%1 to stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not retry run #%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retrying run #%1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::ConsoleOptions</name>
    <message>
        <source>Kairos console: jobs, runs and logs of a Kairos scheduler. Without --remote it runs its own engine and worker on the data folder (local single-node mode).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show this help and exit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the version and exit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data folder: the local database and admin.password (default %1).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DIR</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attach to a running kairosd instead of running locally.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HOST:PORT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrator to log in as with --remote (default admin).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NAME</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>With --remote: a file whose first line is the password (default DIR/admin.password).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FILE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language of the console: %1 (default: the system&apos;s).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LANG</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Local mode: do not accept kairosctl on 127.0.0.1:%1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save a picture of the window to FILE once jobs and runs are shown, then quit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unexpected argument &quot;%1&quot;; see --help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--data: no default data folder on this system; give --data DIR</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--lang: expected one of %1 but got &quot;%2&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--remote: expected HOST:PORT with a port from 1 to 65535, got &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--user and --password-file only apply with --remote HOST:PORT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: cannot read the password from %2: %3; give --password-file FILE with the password of &quot;%4&quot; on its first line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: the first line of %2 is empty; expected the password there</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::ErrorBanner</name>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstanceFeed</name>
    <message>
        <source>Could not load the runs: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstanceListModel</name>
    <message>
        <source>job #%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run #%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reason: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Result: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Parameters: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <comment>column: instance id</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attempt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trigger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Worker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reason</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::InstancesPane</name>
    <message>
        <source>No runs yet — select a job and press %1 to run it now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent runs</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobFeed</name>
    <message>
        <source>Could not load the jobs: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobListModel</name>
    <message>
        <source>%1: %2</source>
        <comment>timing column: type, expression</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <comment>processor column: kind, detail</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time zone: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Timing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Processor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <comment>job column: enabled or disabled</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next fire</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>timing column: timing, time zone</comment>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::JobsPane</name>
    <message>
        <source>Filter jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No jobs yet — create one with %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No job matches &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::Labels</name>
    <message>
        <source>Waiting dispatch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for worker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dispatched</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Timed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Canceled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scheduled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API</source>
        <comment>trigger: started through the API or by hand</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Misfire</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workflow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API only</source>
        <comment>timing type: runs only when asked</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CRON</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed delay</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One shot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shell</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HTTP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Echo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sleep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Container</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::LinkStatusWidget</name>
    <message>
        <source>Attached to %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disconnected: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::LogPanel</name>
    <message>
        <source>Select a run to see its log.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log of run #%1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log of run #%1 (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The log could not be loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not load the log of run #%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No output yet.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::MainWindow</name>
    <message>
        <source>Kairos — %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <comment>menu of run (instance) commands</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Commands</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created &quot;%1&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the job &quot;%1&quot;? Its schedule stops; runs already recorded stay in the history.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not attach to %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n job(s)</source>
        <translation>
            <numerusform>%n job</numerusform>
            <numerusform>%n jobs</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n run(s) shown</source>
        <translation>
            <numerusform>%n run shown</numerusform>
            <numerusform>%n runs shown</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>kairos::ui::NewJobDialog</name>
    <message>
        <source>New job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>for example nightly-backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server&apos;s time zone</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Processor:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Timing:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Expression:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time &amp;zone:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Script:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>echo &quot;hello&quot;
(runs with /bin/bash -c)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Message:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>text to log and return (empty: the run&apos;s parameters)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Duration (ms):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>https://example.com/hook (GET)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>runs only when started by hand or through the API</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>*/5 * * * *  or  0 0 2 * * ?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>30s, 5m, 2h or milliseconds</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>kairos::ui::Translations</name>
    <message>
        <source>--lang: expected one of %1 but got &quot;%2&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--lang: the %1 translation is missing from this build</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
