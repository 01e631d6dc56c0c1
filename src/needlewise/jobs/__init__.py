"""The background worker's door: the huey task queue, its tasks and the SMTP sender.

* :func:`needlewise.jobs.worker.build_worker` builds the huey app and its tasks from
  Settings (nothing happens at import): ``SqliteHuey`` on ``NEEDLEWISE_WORKER_QUEUE_FILE``
  by default, ``RedisHuey`` on ``NEEDLEWISE_REDIS_URL`` with ``NEEDLEWISE_WORKER_BACKEND=redis``.
* :class:`needlewise.jobs.port.QueueJobs` is the :class:`~needlewise.services.job_port.JobPort`
  the web app and the CLI give the runtime: ``wake(due_at)`` queues a check for due
  messages at that time.
* :class:`needlewise.jobs.smtp.SmtpSender` sends through ``NEEDLEWISE_SMTP_*``.

The queue only says *when* to look; the rows of ``outbound_messages`` are the work, and
``services/delivery.py`` sends them (see ``docs/worker.md``).
"""
