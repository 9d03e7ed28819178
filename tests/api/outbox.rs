//! The outbox's own rules, on both engines: jobs are written with the change, coalesce while
//! pending, are claimed by one worker at a time, come back when a worker dies, and a retry
//! that a newer job already covers ends as superseded.

use std::time::Duration;

use passwright::domain::apple_ids::PassTypeId;
use passwright::domain::device::{DeviceLibraryId, PushToken};
use passwright::domain::job::Job;
use passwright::storage::Finish;
use serde_json::json;

use crate::both_engines;
use crate::device::{install, push_token, Device};
use crate::helpers::*;

both_engines!(
    changes_enqueue_coalesced_jobs_in_their_transaction,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        assert_eq!(
            app.count("outbox_jobs").await,
            0,
            "enrolment tells no wallet"
        );
        for i in 0..3 {
            let r = app
                .adjust(
                    &member,
                    &format!("c-{i}"),
                    json!({"points": 1, "reason": "x"}),
                )
                .await;
            assert_eq!(r.status, 201);
        }
        let pending = store.jobs_in_state("pending", 10).await.unwrap();
        assert_eq!(
            pending.len(),
            1,
            "three changes, one pending fan-out: {pending:?}"
        );
        assert_eq!(pending[0].kind, "pass_changed");
        // A refused change enqueues nothing.
        let r = app
            .adjust(&member, "too-much", json!({"points": -100, "reason": "x"}))
            .await;
        r.assert_refused(409, "insufficient_points", None);
        assert_eq!(store.jobs_in_state("pending", 10).await.unwrap().len(), 1);
        // A replayed request changes nothing and enqueues nothing.
        let r = app
            .adjust(&member, "c-0", json!({"points": 1, "reason": "x"}))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(app.count("outbox_jobs").await, 1);
    }
);

both_engines!(
    one_worker_holds_a_job_and_dead_workers_lose_it,
    |app: TestApp| async move {
        let store = &app.state.store;
        let now = passwright::clock::system_now();
        let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
        for n in 0..4 {
            let token = PushToken::parse(&push_token(n)).unwrap();
            assert!(store
                .enqueue_job(&Job::apple_push(&topic, &token), now, now)
                .await
                .unwrap());
        }
        let lease = now + Duration::from_secs(30);
        let a = store.claim_jobs("worker-a", now, lease, 3).await.unwrap();
        let b = store.claim_jobs("worker-b", now, lease, 3).await.unwrap();
        assert_eq!((a.len(), b.len()), (3, 1), "no job is claimed twice");
        assert!(a.iter().all(|j| b.iter().all(|k| k.id != j.id)));
        assert!(store
            .claim_jobs("worker-c", now, lease, 3)
            .await
            .unwrap()
            .is_empty());
        // b may not finish a's jobs.
        store
            .finish_jobs("worker-b", &[(a[0].id, Finish::Done { note: None })], now)
            .await
            .unwrap();
        assert_eq!(store.outbox_stats().await.unwrap().running, 4);
        store
            .finish_jobs("worker-a", &[(a[0].id, Finish::Done { note: None })], now)
            .await
            .unwrap();
        assert_eq!(store.outbox_stats().await.unwrap().running, 3);
        // worker-a dies; once its lease runs out its jobs are due again, b's are not touched.
        assert_eq!(
            store
                .reclaim_expired(now + Duration::from_secs(10), 5)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .reclaim_expired(lease + Duration::from_secs(1), 5)
                .await
                .unwrap(),
            3
        );
        let again = store
            .claim_jobs(
                "worker-d",
                lease + Duration::from_secs(1),
                lease + Duration::from_secs(60),
                10,
            )
            .await
            .unwrap();
        assert_eq!(again.len(), 3);
        assert!(again.iter().all(|j| j.attempts == 2));
        let stats = store.outbox_stats().await.unwrap();
        assert_eq!((stats.pending, stats.running), (0, 3));
        // A job that keeps killing its worker fails once its attempts are used up.
        let later = lease + Duration::from_secs(120);
        assert_eq!(store.reclaim_expired(later, 2).await.unwrap(), 3);
        let failed = store.jobs_in_state("failed", 10).await.unwrap();
        assert_eq!(failed.len(), 3);
        assert!(failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("last attempt"));
    }
);

both_engines!(
    a_retry_covered_by_a_newer_job_is_superseded,
    |app: TestApp| async move {
        let store = &app.state.store;
        let now = passwright::clock::system_now();
        let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
        let token = PushToken::parse(&push_token(9)).unwrap();
        let job = Job::apple_push(&topic, &token);
        assert!(store.enqueue_job(&job, now, now).await.unwrap());
        assert!(
            !store.enqueue_job(&job, now, now).await.unwrap(),
            "coalesced while pending"
        );
        let held = store
            .claim_jobs("w", now, now + Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].job.as_ref().unwrap(), &job);
        assert!(
            store.enqueue_job(&job, now, now).await.unwrap(),
            "a running job does not absorb a new change"
        );
        store
            .finish_jobs(
                "w",
                &[(
                    held[0].id,
                    Finish::Retry {
                        at: now,
                        error: "503 ServiceUnavailable".into(),
                    },
                )],
                now,
            )
            .await
            .unwrap();
        let done = store.jobs_in_state("done", 10).await.unwrap();
        assert_eq!(done.len(), 1);
        assert!(done[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("superseded"));
        assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
        // Failing for good is recorded with the reason, and an operator can send it again.
        let held = store
            .claim_jobs("w", now, now + Duration::from_secs(30), 10)
            .await
            .unwrap();
        store
            .finish_jobs(
                "w",
                &[(
                    held[0].id,
                    Finish::Failed {
                        error: "400 BadDeviceToken".into(),
                    },
                )],
                now,
            )
            .await
            .unwrap();
        let failed = app
            .get("/api/v1/outbox/jobs?state=failed", &app.admin)
            .await;
        assert_eq!(failed.status, 200);
        assert_eq!(failed.body["jobs"][0]["last_error"], "400 BadDeviceToken");
        assert_eq!(
            failed.body["jobs"][0]["payload"]["push_token"],
            push_token(9)
        );
        let id = failed.body["jobs"][0]["id"].as_i64().unwrap();
        let r = app
            .post(
                &format!("/api/v1/outbox/jobs/{id}/retry"),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, 202, "{:?}", r.body);
        assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
        let r = app
            .post(
                &format!("/api/v1/outbox/jobs/{id}/retry"),
                &app.admin,
                json!({}),
            )
            .await;
        r.assert_refused(404, "not_found", None);
    }
);

both_engines!(
    a_card_change_fans_out_one_push_per_device,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let member = app.member(&program, "Ada").await;
        let pass = install(&app, &member).await;
        let phones: Vec<Device> = (0..3)
            .map(|n| Device::new(&format!("phone{n}"), &push_token(100 + n)))
            .collect();
        for p in &phones {
            assert_eq!(p.register(&pass).await, 201);
        }
        assert_eq!(
            app.adjust(&member, "f-1", json!({"points": 3, "reason": "x"}))
                .await
                .status,
            201
        );
        let now = passwright::clock::system_now();
        let fan = store
            .claim_jobs("w", now, now + Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(fan.len(), 1);
        let Ok(Job::PassChanged { serial }) = &fan[0].job else {
            panic!("{fan:?}")
        };
        assert_eq!(serial, &pass.serial);
        // Another worker cannot complete a fan-out it does not hold: nothing is enqueued.
        assert_eq!(
            store
                .fan_out_cards("intruder", &[(fan[0].id, serial)], now)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .fan_out_cards("w", &[(fan[0].id, serial)], now)
                .await
                .unwrap(),
            3
        );
        let pushes = store
            .claim_jobs("w", now, now + Duration::from_secs(30), 10)
            .await
            .unwrap();
        let mut tokens: Vec<String> = pushes
            .iter()
            .map(|j| match j.job.as_ref().unwrap() {
                Job::ApplePush {
                    pass_type_id,
                    push_token,
                } => {
                    assert_eq!(pass_type_id, PASS_TYPE_ID);
                    push_token.clone()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        tokens.sort();
        let mut expected: Vec<String> = phones.iter().map(|p| p.push_token.clone()).collect();
        expected.sort();
        assert_eq!(tokens, expected);
        // A 410 older than the registration removes nothing; one newer removes it.
        let token = PushToken::parse(&phones[0].push_token).unwrap();
        let topic = PassTypeId::parse(PASS_TYPE_ID).unwrap();
        let before = now - time::Duration::hours(1);
        assert_eq!(
            store
                .drop_push_token(&topic, &token, before, now)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .drop_push_token(
                    &topic,
                    &token,
                    passwright::clock::system_now(),
                    passwright::clock::system_now()
                )
                .await
                .unwrap(),
            1
        );
        let device = DeviceLibraryId::parse("phone0").unwrap();
        assert!(store
            .serials_updated_since(&device, &topic, None)
            .await
            .unwrap()
            .is_none());
    }
);

both_engines!(
    card_changes_fan_out_together_and_only_those_still_held,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let mut cards = Vec::new();
        for (n, name) in ["Ada", "Grace", "Edsger"].iter().enumerate() {
            let member = app.member(&program, name).await;
            let pass = install(&app, &member).await;
            let phone = Device::new(&format!("phone-{name}"), &push_token(200 + n as u32));
            assert_eq!(phone.register(&pass).await, 201);
            let r = app
                .adjust(
                    &member,
                    &format!("t-{n}"),
                    json!({"points": 2, "reason": "x"}),
                )
                .await;
            assert_eq!(r.status, 201);
            cards.push((pass.serial, phone.push_token));
        }
        let now = passwright::clock::system_now();
        let lease = now + Duration::from_secs(30);
        // Two jobs for worker "w", the third taken by worker "v".
        let mut held = store.claim_jobs("w", now, lease, 2).await.unwrap();
        held.extend(store.claim_jobs("v", now, lease, 1).await.unwrap());
        let jobs: Vec<(i64, String)> = held
            .iter()
            .map(|j| match &j.job {
                Ok(Job::PassChanged { serial }) => (j.id, serial.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        let all: Vec<(i64, &str)> = jobs.iter().map(|(id, s)| (*id, s.as_str())).collect();
        // "w" fans out all three in one call: only its own two are done, one push each.
        assert_eq!(store.fan_out_cards("w", &all, now).await.unwrap(), 2);
        assert_eq!(store.jobs_in_state("running", 10).await.unwrap().len(), 1);
        let pushes = store.claim_jobs("w", now, lease, 10).await.unwrap();
        let mut tokens: Vec<String> = pushes
            .iter()
            .map(|j| match j.job.as_ref().unwrap() {
                Job::ApplePush { push_token, .. } => push_token.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        tokens.sort();
        let token_of = |serial: &str| {
            cards
                .iter()
                .find(|(s, _)| s == serial)
                .map(|(_, t)| t.clone())
                .unwrap()
        };
        let mut expected = vec![token_of(&jobs[0].1), token_of(&jobs[1].1)];
        expected.sort();
        assert_eq!(tokens, expected);
        // The third is still "v"'s to fan out.
        assert_eq!(store.fan_out_cards("v", &all[2..], now).await.unwrap(), 1);
        let pushes = store.claim_jobs("v", now, lease, 10).await.unwrap();
        assert_eq!(pushes.len(), 1);
        assert!(
            matches!(pushes[0].job.as_ref().unwrap(), Job::ApplePush { push_token, .. } if *push_token == token_of(&jobs[2].1))
        );
    }
);

both_engines!(
    a_fan_out_taken_over_resumes_where_it_stopped,
    |app: TestApp| async move {
        use passwright::storage::{FanOut, Ranges};
        // Ranges of two registrations, one range per step.
        let ranges = Ranges {
            size: 2,
            per_step: 1,
        };
        let store = &app.state.store;
        let program = app.sample_program().await;
        let mut tokens = Vec::new();
        for n in 0..5u32 {
            let member = app.member(&program, &format!("M{n}")).await;
            let pass = install(&app, &member).await;
            let phone = Device::new(&format!("resume{n}"), &push_token(300 + n));
            assert_eq!(phone.register(&pass).await, 201);
            tokens.push(phone.push_token);
        }
        let r = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v1/programs/{program}"),
                Some(&app.admin),
                Some(&json!({"name": "New name"})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200);
        let now = passwright::clock::system_now();
        let lease = now + Duration::from_secs(30);
        let job = store.claim_jobs("first", now, lease, 10).await.unwrap();
        assert_eq!(job.len(), 1);
        let Ok(Job::ProgramChanged { program_id, after }) = job[0].job.clone() else {
            panic!("{job:?}")
        };
        // The first worker handles two registrations, then dies.
        let step = store
            .fan_out_program((job[0].id, "first"), &program_id, after, ranges, now, lease)
            .await
            .unwrap();
        let FanOut::Continue { after: saved } = step else {
            panic!("{step:?}")
        };
        // One job pushes to the two registrations it covered.
        assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
        // Its lease runs out; another worker takes the job back with the saved position.
        let later = lease + Duration::from_secs(1);
        assert_eq!(store.reclaim_expired(later, 10).await.unwrap(), 1);
        let again = store
            .claim_jobs("second", later, later + Duration::from_secs(30), 10)
            .await
            .unwrap();
        let fan_out = again
            .iter()
            .find(|j| matches!(j.job, Ok(Job::ProgramChanged { .. })))
            .unwrap();
        let expected = Job::ProgramChanged {
            program_id: program_id.clone(),
            after: saved,
        };
        assert_eq!(fan_out.job.as_ref().unwrap(), &expected);
        // The dead worker can no longer touch it.
        let stale = store
            .fan_out_program(
                (fan_out.id, "first"),
                &program_id,
                saved,
                ranges,
                later,
                later,
            )
            .await
            .unwrap();
        assert_eq!(stale, FanOut::Finished);
        let mut at = saved;
        let until = later + Duration::from_secs(30);
        while let FanOut::Continue { after } = store
            .fan_out_program(
                (fan_out.id, "second"),
                &program_id,
                at,
                ranges,
                later,
                until,
            )
            .await
            .unwrap()
        {
            at = after;
        }
        // The push ranges cover every device exactly once: none lost, none doubled. (The
        // second worker's claim took the first range as well.)
        let mut pushed: Vec<String> = Vec::new();
        let mut ranges = store.jobs_in_state("pending", 100).await.unwrap();
        ranges.extend(store.jobs_in_state("running", 100).await.unwrap());
        for j in ranges {
            if let Ok(Job::ApplePushes {
                program_id,
                after,
                upto,
            }) = Job::from_json(&j.payload)
            {
                let targets = store.push_targets(&program_id, after, upto).await.unwrap();
                pushed.extend(
                    targets
                        .distinct()
                        .iter()
                        .map(|(_, token)| token.to_string()),
                );
            }
        }
        pushed.sort();
        tokens.sort();
        assert_eq!(pushed, tokens);
        let done = store.jobs_in_state("done", 10).await.unwrap();
        assert_eq!(done.len(), 1, "the fan-out finished");
    }
);

both_engines!(
    a_push_range_names_each_device_once_and_leaves_out_pending_pushes,
    |app: TestApp| async move {
        let store = &app.state.store;
        let program = app.sample_program().await;
        let mut passes = Vec::new();
        for n in 0..3u32 {
            let member = app.member(&program, &format!("R{n}")).await;
            passes.push(install(&app, &member).await);
        }
        // One phone holds two of the program's cards; two more phones hold one each.
        let shared = Device::new("range-shared", &push_token(400));
        assert_eq!(shared.register(&passes[0]).await, 201);
        assert_eq!(shared.register(&passes[1]).await, 201);
        let phones: Vec<Device> = (1..3u32)
            .map(|n| Device::new(&format!("range{n}"), &push_token(400 + n)))
            .collect();
        for (phone, pass) in phones.iter().zip(&passes[1..]) {
            assert_eq!(phone.register(pass).await, 201);
        }
        let mut all: Vec<String> = [&shared, &phones[0], &phones[1]]
            .iter()
            .map(|p| p.push_token.clone())
            .collect();
        all.sort();
        let program = program.as_str();
        let targets = || async move {
            let read = store.push_targets(program, 0, i64::MAX).await.unwrap();
            let mut tokens: Vec<String> = read
                .distinct()
                .into_iter()
                .map(|(topic, token)| {
                    assert_eq!(topic, PASS_TYPE_ID);
                    token.to_string()
                })
                .collect();
            tokens.sort();
            tokens
        };
        // The shared phone is named once, though two of its registrations are in the range.
        assert_eq!(targets().await, all);
        // A pending push job for one phone (its card changed in the same window) takes it out
        // of the range; another kind of pending job, such as a push range, does not.
        let now = passwright::clock::system_now();
        let range = Job::ApplePushes {
            program_id: program.to_string(),
            after: 0,
            upto: 1,
        };
        assert!(store.enqueue_job(&range, now, now).await.unwrap());
        assert_eq!(targets().await, all);
        let single = Job::ApplePush {
            pass_type_id: PASS_TYPE_ID.into(),
            push_token: phones[0].push_token.clone(),
        };
        assert!(store.enqueue_job(&single, now, now).await.unwrap());
        let rest: Vec<String> = all
            .iter()
            .filter(|t| **t != phones[0].push_token)
            .cloned()
            .collect();
        assert_eq!(targets().await, rest);
    }
);
